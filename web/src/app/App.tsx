import { createTheme, MantineProvider, type CSSVariablesResolver } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "react-router";
import { ProblemError } from "../lib/api";
import { router } from "./router";

const theme = createTheme({
  primaryColor: "red",
  primaryShade: 9,
  respectReducedMotion: true,
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
});

// Text dark enough for WCAG AA contrast (4.5:1): Mantine's secondary text (gray.6), its
// error text (red.6) and the text of its light variants (shade 9 on shade 1: 4.1:1 for
// green, 4.5:1 for red) fall short.
const resolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
    "--mantine-color-error": "var(--mantine-color-red-9)",
    "--mantine-color-red-light-color": "#a61e1e",
    "--mantine-color-green-light-color": "#1f6b2d",
  },
  dark: {},
});

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A problem the gateway answered (404, 403, 422…) is the answer; only failures retry.
      retry: (count, error) => !(error instanceof ProblemError) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

export function App() {
  return (
    <MantineProvider theme={theme} cssVariablesResolver={resolver}>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>
  );
}
