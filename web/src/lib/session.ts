// The session: the access token lives in memory only, the refresh token in sessionStorage
// (it survives a reload of this tab, not the closing of it). Listeners hear every change.
import type { components } from "./schema";

export type Tokens = components["schemas"]["TokensOut"];

const REFRESH_KEY = "vm.refresh_token";
let accessToken: string | null = null;
const listeners = new Set<() => void>();

export const session = {
  accessToken: (): string | null => accessToken,
  refreshToken: (): string | null => sessionStorage.getItem(REFRESH_KEY),
  signedIn: (): boolean => accessToken !== null,
  start: (tokens: Tokens): void => {
    accessToken = tokens.access_token;
    sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
    listeners.forEach((listener) => listener());
  },
  end: (): void => {
    accessToken = null;
    sessionStorage.removeItem(REFRESH_KEY);
    listeners.forEach((listener) => listener());
  },
  subscribe: (listener: () => void): (() => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
