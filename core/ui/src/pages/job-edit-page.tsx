import { Alert, Anchor, Button, Group } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconAlertTriangle, IconArrowLeft, IconPlayerPlay } from "@tabler/icons-react";
import { useEffect, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { errorMessage } from "../api/client.ts";
import { useDeleteJob, useJob, useRunJob, useSaveJob } from "../api/jobs.ts";
import { usePermissions } from "../api/me.ts";
import { useNodes } from "../api/nodes.ts";
import { useProviders } from "../api/providers.ts";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { emptyForm, type FormState, formFromJob, toInput } from "./job-edit/form-model.ts";
import { JobForm } from "./job-edit/job-form.tsx";
import { DeleteJobModal, OfflineRunModal } from "./job-edit/job-modals.tsx";
import { JobTabs, jobTab } from "./job-edit/job-tabs.tsx";
import { useJobTargets } from "./job-edit/target-nodes.tsx";

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
  // The tab is in the URL (?tab=settings), so a link can open the job's settings directly.
  const [params, setParams] = useSearchParams();
  const tab = jobTab(params.get("tab"));
  const setTab = (value: string | null) => {
    const next = new URLSearchParams(params);
    if (value && value !== "overview") next.set("tab", value);
    else next.delete("tab");
    setParams(next, { replace: true });
  };
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
      jobId={isNew ? undefined : job.data?.id}
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
              // Every target offline: say so first (issue 22.1), the operator may still run it. Some
              // offline is said on the page only: a fleet of hundreds has one down most days.
              onClick={targets.allOffline ? offlineModal.open : runNow}
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
          <JobTabs job={job.data} targets={targets} tab={tab} setTab={setTab} settings={body} canEdit={canOperate} />
        </QueryState>
      )}
      <OfflineRunModal
        opened={offlineOpened}
        onClose={offlineModal.close}
        onConfirm={runNow}
        loading={run.isPending}
        offline={targets.offline}
        allOffline={targets.allOffline}
        job={job.data}
      />
      <DeleteJobModal
        opened={deleteOpened}
        onClose={deleteModal.close}
        loading={remove.isPending}
        error={remove.error}
        name={job.data?.name}
        onConfirm={() =>
          id &&
          remove.mutate(id, {
            onSuccess: () => {
              deleteModal.close();
              navigate("/jobs", { replace: true });
            },
          })
        }
      />
    </>
  );
}
