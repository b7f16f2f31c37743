// The requests that change one number, shared by the forms of «Карточка номера».
import { useMutation, useQueryClient } from "@tanstack/react-query";

/**
 * A request that changes the number `msisdn`: when it succeeds, the card is read again
 * and so are the lists that show the number; then `after` (clearing the form, going on).
 */
export function useNumberChange<TData, TVariables = void>(
  msisdn: string,
  mutationFn: (variables: TVariables) => Promise<TData>,
  after?: (data: TData) => void,
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: (data) => {
      void client.invalidateQueries({ queryKey: ["number", msisdn] });
      void client.invalidateQueries({ queryKey: ["numbers"] });
      after?.(data);
    },
  });
}
