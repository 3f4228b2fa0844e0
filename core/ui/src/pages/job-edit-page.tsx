import { Alert, Anchor, Button, Group, Stack } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconAlertTriangle, IconArrowLeft, IconPlayerPlay } from "@tabler/icons-react";
import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { errorMessage } from "../api/client.ts";
import { useDeleteJob, useJob, useRunJob, useSaveJob } from "../api/jobs.ts";
import { usePermissions } from "../api/me.ts";
import { useNodes } from "../api/nodes.ts";
import { useProviders } from "../api/providers.ts";
import { ConfirmModal } from "../components/confirm-modal.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { emptyForm, type FormState, formFromJob, toInput } from "./job-edit/form-model.ts";
import { JobForm } from "./job-edit/job-form.tsx";
import { BudgetStatus, RecentRuns, ScheduleStatus } from "./job-edit/status-panels.tsx";
import { TargetNodes, useJobTargets } from "./job-edit/target-nodes.tsx";

/* The job page: loads the job and what it refers to, and wires them to the form (job-edit/job-form.tsx,
 * one file per section) and the status panels. */
export default function JobEditPage() {
  const { id } = useParams();
  const isNew = !id;
  const navigate = useNavigate();
  const job = useJob(id);
  const nodes = useNodes();
  const providers = useProviders();
  const save = useSaveJob();
  const run = useRunJob();
  const remove = useDeleteJob();
  const { canOperate, known: roleKnown } = usePermissions();
  const [deleteOpened, deleteModal] = useDisclosure(false);
  const [offlineOpened, offlineModal] = useDisclosure(false);
  const targets = useJobTargets(isNew ? undefined : job.data);
  const [form, setForm] = useState<FormState>(emptyForm);
  const [loadedFor, setLoadedFor] = useState<string | null>(null);

  const nodeList = nodes.data ?? [];
  const providerList = providers.data ?? [];

  // Fill the form once per job, after the Nodes and providers it refers to are known, and never
  // again while the user edits (background refetches must not overwrite their typing).
  useEffect(() => {
    if (isNew || !job.data || loadedFor === job.data.id || nodes.isPending || providers.isPending) return;
    setForm(formFromJob(job.data, nodeList, providerList));
    setLoadedFor(job.data.id);
  }, [isNew, job.data, loadedFor, nodes.isPending, providers.isPending, nodeList, providerList]);

  // A new job starts on the first provider, which is what most single-provider setups want.
  useEffect(() => {
    if (isNew && !form.model.provider && providerList[0]) {
      const first = providerList[0];
      setForm((f) => ({ ...f, model: { provider: first.id, model: "" } }));
    }
  }, [isNew, form.model.provider, providerList]);

  const saveForm = () =>
    save.mutate(
      { id, body: toInput(form, isNew ? undefined : job.data) },
      {
        onSuccess: (saved) => {
          notifications.show({ color: "green", message: `Saved ${form.name.trim()}` });
          setForm((f) => ({ ...f, secret: "" }));
          if (isNew && saved?.id) navigate(`/jobs/${saved.id}`, { replace: true });
          else if (id) void job.refetch();
        },
      },
    );

  const runNow = () => {
    if (!id) return;
    offlineModal.close();
    run.mutate(
      { id },
      {
        onSuccess: ({ runId }) => navigate(`/runs/${runId}`),
        onError: (error) => notifications.show({ color: "red", title: "Did not start", message: errorMessage(error) }),
      },
    );
  };

  const body = (
    <JobForm
      form={form}
      setForm={setForm}
      nodes={nodeList}
      providers={providerList}
      providersError={providers.error}
      isNew={isNew}
      canOperate={canOperate}
      hasStoredSecret={Boolean(job.data?.webhook && (job.data.webhook.hasSecret ?? true))}
      saving={save.isPending}
      saveError={save.error}
      onSave={saveForm}
      onDelete={() => {
        remove.reset();
        deleteModal.open();
      }}
    />
  );

  return (
    <>
      <Anchor component={Link} to="/jobs" size="sm">
        <Group gap={4}>
          <IconArrowLeft size={14} aria-hidden /> Jobs
        </Group>
      </Anchor>
      <PageHeader
        title={isNew ? "New job" : (job.data?.name ?? "Job")}
        description={isNew ? undefined : "Changes apply to the next run."}
        actions={
          !isNew &&
          canOperate && (
            <Button
              leftSection={<IconPlayerPlay size={16} />}
              // Offline targets: say so first (issue 22.1), the operator may still run it.
              onClick={targets.offline.length > 0 ? offlineModal.open : runNow}
              loading={run.isPending}
            >
              Run now
            </Button>
          )
        }
      />
      {roleKnown && !canOperate ? (
        <Alert color="gray" variant="light" icon={<IconAlertTriangle size={18} />} mb="md">
          {isNew
            ? "Your role (viewer) cannot create jobs."
            : "Read-only: your role (viewer) cannot change or run jobs."}
        </Alert>
      ) : null}
      {isNew ? (
        roleKnown && !canOperate ? null : (
          body
        )
      ) : (
        <QueryState
          isPending={job.isPending || (loadedFor === null && !job.error)}
          error={job.error}
          onRetry={() => job.refetch()}
        >
          <Stack gap="lg">
            {job.data ? <TargetNodes targets={targets} /> : null}
            {job.data ? <ScheduleStatus job={job.data} /> : null}
            {job.data ? <BudgetStatus job={job.data} /> : null}
            {body}
            {id && <RecentRuns jobId={id} />}
          </Stack>
        </QueryState>
      )}
      <ConfirmModal
        opened={offlineOpened}
        onClose={offlineModal.close}
        title={targets.allOffline ? "Every target Node is offline" : "Some target Nodes are offline"}
        confirmLabel="Run anyway"
        loading={run.isPending}
        onConfirm={runNow}
      >
        <b>{targets.offline.map((n) => n.name).join(", ")}</b> {targets.offline.length === 1 ? "is" : "are"} not
        connected.{" "}
        {targets.allOffline
          ? "The run will fail at once (nodes offline): no tool could be offered to the model."
          : "The run works with the other Nodes only; the model is told which are missing."}
      </ConfirmModal>
      <ConfirmModal
        opened={deleteOpened}
        onClose={deleteModal.close}
        title="Delete job"
        confirmLabel="Delete"
        loading={remove.isPending}
        error={remove.error}
        onConfirm={() =>
          id &&
          remove.mutate(id, {
            onSuccess: () => {
              deleteModal.close();
              navigate("/jobs", { replace: true });
            },
          })
        }
      >
        Delete <b>{job.data?.name}</b>? Its schedule and webhook stop at once. Past runs stay visible.
      </ConfirmModal>
    </>
  );
}
