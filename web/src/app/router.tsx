// The routes, apart from the features: each screen is its own chunk, loaded when visited.
import { lazy } from "react";
import { createBrowserRouter } from "react-router";
import { NotBuiltPage, NotFoundPage, RouteError } from "./pages";
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
      ...["forms", "tickets", "admin", "settings"].map((path) => ({
        path,
        element: <NotBuiltPage />,
      })),
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);
