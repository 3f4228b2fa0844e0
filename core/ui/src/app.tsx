import { useQueryClient } from "@tanstack/react-query";
import { lazy, useEffect } from "react";
import { Navigate, Route, Routes, useNavigate } from "react-router";
import { setUnauthorizedHandler } from "./api/client.ts";
import { AppLayout } from "./layout/app-layout.tsx";
import { LoginPage } from "./pages/login-page.tsx";

// Pages load on demand so the login screen and first paint stay small.
const DashboardPage = lazy(() => import("./pages/dashboard-page.tsx"));
const NodesPage = lazy(() => import("./pages/nodes-page.tsx"));
const NodeDetailPage = lazy(() => import("./pages/node-detail-page.tsx"));
const McpPage = lazy(() => import("./pages/mcp-page.tsx"));
const McpClientsPage = lazy(() => import("./pages/mcp-clients-page.tsx"));
const JobsPage = lazy(() => import("./pages/jobs-page.tsx"));
const JobEditPage = lazy(() => import("./pages/job-edit-page.tsx"));
const RunsPage = lazy(() => import("./pages/runs-page.tsx"));
const RunDetailPage = lazy(() => import("./pages/run-detail-page.tsx"));
const ProvidersPage = lazy(() => import("./pages/providers-page.tsx"));
const SecretsPage = lazy(() => import("./pages/secrets-page.tsx"));
const ChannelsPage = lazy(() => import("./pages/channels-page.tsx"));
const UsersPage = lazy(() => import("./pages/users-page.tsx"));
const TokensPage = lazy(() => import("./pages/tokens-page.tsx"));
const AuditPage = lazy(() => import("./pages/audit-page.tsx"));
const AccountPage = lazy(() => import("./pages/account-page.tsx"));
const NotFoundPage = lazy(() => import("./pages/not-found-page.tsx"));

function UnauthorizedRedirect() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      if (window.location.pathname === "/login") return;
      const next = window.location.pathname + window.location.search;
      // Stop polling queries first, so they do not keep hitting 401 behind the login page.
      void queryClient.cancelQueries();
      queryClient.clear();
      navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
    });
    return () => setUnauthorizedHandler(() => {});
  }, [navigate, queryClient]);
  return null;
}

export function App() {
  return (
    <>
      <UnauthorizedRedirect />
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/" element={<AppLayout />}>
          <Route index element={<DashboardPage />} />
          <Route path="nodes" element={<NodesPage />} />
          <Route path="nodes/:id" element={<NodeDetailPage />} />
          <Route path="mcp-servers" element={<McpPage />} />
          <Route path="mcp-clients" element={<McpClientsPage />} />
          <Route path="jobs" element={<JobsPage />} />
          <Route path="jobs/new" element={<JobEditPage />} />
          <Route path="jobs/:id" element={<JobEditPage />} />
          <Route path="runs" element={<RunsPage />} />
          <Route path="runs/:id" element={<RunDetailPage />} />
          <Route path="providers" element={<ProvidersPage />} />
          <Route path="secrets" element={<SecretsPage />} />
          <Route path="channels" element={<ChannelsPage />} />
          <Route path="users" element={<UsersPage />} />
          <Route path="tokens" element={<TokensPage />} />
          <Route path="audit" element={<AuditPage />} />
          <Route path="account" element={<AccountPage />} />
          <Route path="dashboard" element={<Navigate to="/" replace />} />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Routes>
    </>
  );
}
