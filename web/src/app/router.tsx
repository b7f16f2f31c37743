// The routes, apart from the features: each screen is its own chunk, loaded when visited.
import { lazy } from "react";
import { createBrowserRouter, Navigate } from "react-router";
import { NotFoundPage, RouteError } from "./pages";
import { Root } from "./Root";

const HomePage = lazy(() => import("../features/home/HomePage").then((m) => ({ default: m.HomePage })));
const HierarchyPage = lazy(() =>
  import("../features/hierarchy/HierarchyPage").then((m) => ({ default: m.HierarchyPage })),
);
const NumberCardPage = lazy(() =>
  import("../features/numbers/NumberCardPage").then((m) => ({ default: m.NumberCardPage })),
);
const BulkPage = lazy(() => import("../features/operations/BulkPage").then((m) => ({ default: m.BulkPage })));
const OperationPage = lazy(() =>
  import("../features/operations/OperationPage").then((m) => ({ default: m.OperationPage })),
);
const ResultsPage = lazy(() =>
  import("../features/operations/ResultsPage").then((m) => ({ default: m.ResultsPage })),
);
const FinancePage = lazy(() => import("../features/finance/FinancePage").then((m) => ({ default: m.FinancePage })));
const DocumentsPage = lazy(() =>
  import("../features/documents/DocumentsPage").then((m) => ({ default: m.DocumentsPage })),
);
const AdminPage = lazy(() => import("../features/admin/AdminPage").then((m) => ({ default: m.AdminPage })));
const TicketsPage = lazy(() => import("../features/tickets/TicketsPage").then((m) => ({ default: m.TicketsPage })));
const TicketPage = lazy(() => import("../features/tickets/TicketPage").then((m) => ({ default: m.TicketPage })));
const SettingsPage = lazy(() =>
  import("../features/settings/SettingsPage").then((m) => ({ default: m.SettingsPage })),
);
const FormsPage = lazy(() => import("../features/forms/FormsPage").then((m) => ({ default: m.FormsPage })));

export const router = createBrowserRouter([
  {
    path: "/",
    element: <Root />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <HomePage /> },
      { path: "hierarchy", element: <HierarchyPage /> },
      { path: "numbers/:msisdn", element: <NumberCardPage /> },
      { path: "operations", element: <BulkPage /> },
      { path: "operations/:id", element: <OperationPage /> },
      { path: "results", element: <ResultsPage /> },
      { path: "finance", element: <FinancePage /> },
      { path: "documents", element: <DocumentsPage /> },
      { path: "admin", element: <AdminPage /> },
      { path: "tickets", element: <TicketsPage /> },
      { path: "tickets/:id", element: <TicketPage /> },
      { path: "settings", element: <SettingsPage /> },
      { path: "forms", element: <FormsPage /> },
      // Signed out, Root shows these itself; signed in, they lead home.
      ...["register", "password-reset"].map((path) => ({ path, element: <Navigate to="/" replace /> })),
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);
