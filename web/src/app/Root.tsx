// Signed out: «Вход» at whatever address was asked for (a reload keeps the session while
// this tab holds the refresh token). Signed in: the shell and the screen of the address.
import { useEffect, useState } from "react";
import { Loading } from "../components/Loading";
import { LoginPage } from "../features/auth/LoginPage";
import { refreshSession } from "../lib/api";
import { useSignedIn } from "../lib/auth";
import { session } from "../lib/session";
import { Shell } from "./Shell";

export function Root() {
  const signedIn = useSignedIn();
  const [restoring, setRestoring] = useState(() => !session.signedIn() && !!session.refreshToken());
  useEffect(() => {
    if (restoring) void refreshSession().finally(() => setRestoring(false));
  }, [restoring]);
  if (restoring) return <Loading />;
  return signedIn ? <Shell /> : <LoginPage />;
}
