// Signed out: «Регистрация» at /register, «Забыли пароль?» at /password-reset, «Вход» at
// whatever other address was asked for (a reload keeps the session while
// this tab holds the refresh token). Signed in: the shell and the screen of the address.
import { lazy, Suspense, useEffect, useState } from "react";
import { useLocation } from "react-router";
import { Loading } from "../components/Loading";
import { LoginPage } from "../features/auth/LoginPage";
import { refreshSession } from "../lib/api";
import { useSignedIn } from "../lib/auth";
import { session } from "../lib/session";
import { Shell } from "./Shell";

const RegisterPage = lazy(() => import("../features/auth/RegisterPage").then((m) => ({ default: m.RegisterPage })));
const ResetPage = lazy(() => import("../features/auth/ResetPage").then((m) => ({ default: m.ResetPage })));

export function Root() {
  const { pathname } = useLocation();
  const signedIn = useSignedIn();
  const [restoring, setRestoring] = useState(() => !session.signedIn() && !!session.refreshToken());
  useEffect(() => {
    if (restoring) void refreshSession().finally(() => setRestoring(false));
  }, [restoring]);
  if (restoring) return <Loading />;
  if (signedIn) return <Shell />;
  const Public = pathname === "/register" ? RegisterPage : pathname === "/password-reset" ? ResetPage : null;
  return Public ? (
    <Suspense fallback={<Loading />}>
      <Public />
    </Suspense>
  ) : (
    <LoginPage />
  );
}
