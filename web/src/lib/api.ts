// The one API client: typed by schema.d.ts (generated from the gateway's OpenAPI by
// `npm run gen:api`), bearer token on every call, one refresh and one retry on a 401.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { session, type Tokens } from "./session";

/** RFC 9457 problem+json, as the gateway answers every error. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  /** The service's more precise reason, lower case (e.g. `cycle`, `node_not_empty`). */
  reason?: string;
  errors?: { field?: string; message?: string; [key: string]: unknown }[];
}

export class ProblemError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.problem = problem;
  }
}

const PUBLIC = /\/api\/v1\/auth\/(login|refresh|registrations|password-resets)/;
let refreshing: Promise<boolean> | null = null;

/** A new access token from the refresh token; one request at a time for every caller. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const refresh_token = session.refreshToken();
    if (!refresh_token) return false;
    const response = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token }),
    });
    if (!response.ok) {
      session.end();
      return false;
    }
    session.start((await response.json()) as Tokens);
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function authorizedFetch(request: Request): Promise<Response> {
  const retry = request.clone();
  const send = (r: Request) => {
    const token = session.accessToken();
    if (token) r.headers.set("authorization", `Bearer ${token}`);
    return fetch(r);
  };
  const response = await send(request);
  if (response.status !== 401 || PUBLIC.test(new URL(request.url).pathname)) return response;
  if (!(await refreshSession())) {
    session.end();
    return response;
  }
  return send(retry);
}

export const api = createClient<paths>({ baseUrl: "", fetch: authorizedFetch });

/** The data of an openapi-fetch answer, or a ProblemError with the gateway's detail. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error ?? {}) as Partial<Problem>;
  throw new ProblemError({ ...body, status: response.status });
}

export type Schemas = components["schemas"];

/** A new Idempotency-Key: one per submission, so a repeat of the same request is one change. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}

/** The message of the problem's error for one of these fields (dotted, as the gateway says). */
export function fieldError(error: unknown, ...fields: string[]): string | undefined {
  if (!(error instanceof ProblemError)) return undefined;
  const found = error.problem.errors?.find(
    (e) => e.field !== undefined && fields.some((f) => e.field === f || e.field?.startsWith(`${f}.`)),
  );
  return found?.message;
}

/** A file of the API (an operation's `files[].url`), fetched with the bearer token and saved. */
export async function download(url: string, name: string): Promise<void> {
  const response = await authorizedFetch(new Request(new URL(url, window.location.origin)));
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as Partial<Problem>;
    throw new ProblemError({ ...body, status: response.status });
  }
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = href;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
