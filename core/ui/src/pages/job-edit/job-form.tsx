import { Alert, Button, Group, Stack, Text } from "@mantine/core";
import { IconDeviceFloppy, IconTrash } from "@tabler/icons-react";
import { type Dispatch, type FormEvent, type SetStateAction, useEffect, useState } from "react";
import { Link } from "react-router";
import type { FleetNode, Provider } from "../../api/types.ts";
import { ErrorAlert } from "../../components/query-state.tsx";
import { ApprovalSection } from "./approval-section.tsx";
import { BudgetSection } from "./budget-section.tsx";
import { useSaveErrors } from "./field-errors.ts";
import { FleetSection } from "./fleet-section.tsx";
import { budgetErrors, concurrencyError, type FormState, type SectionProps, waitForNodesError } from "./form-model.ts";
import { ModelSection } from "./model-section.tsx";
import { NodesSection } from "./nodes-section.tsx";
import { schemaError } from "./results-model.ts";
import { ResultsSection } from "./results-section.tsx";
import { TaskSection } from "./task-section.tsx";
import { TriggersSection } from "./triggers-section.tsx";

export interface JobFormProps {
  form: FormState;
  setForm: Dispatch<SetStateAction<FormState>>;
  nodes: FleetNode[];
  providers: Provider[];
  providersError: unknown;
  isNew: boolean;
  /** The saved job's id (an edit): a job does not chain to itself. */
  jobId?: string | undefined;
  canOperate: boolean;
  hasStoredSecret: boolean;
  saving: boolean;
  saveError: unknown;
  /** Called only once the form passed its own checks (budget limits, approval tools). */
  onSave: () => void;
  onDelete: () => void;
}

/** The job form: one section per concern, checked here, saved by the page. */
export function JobForm(props: JobFormProps) {
  const { form, setForm, canOperate, isNew } = props;
  const [approvalError, setApprovalError] = useState<string | null>(null);
  const set: SectionProps["set"] = (key, value) => setForm((f) => ({ ...f, [key]: value }));
  const saved = useSaveErrors(props.saveError, form);
  const section: SectionProps = { form, set, setForm, errors: saved.errors };
  // A refused save: the first field the Core named gets the focus (and scrolls clear of the header).
  useEffect(() => {
    if (!props.saveError) return;
    const frame = requestAnimationFrame(() =>
      document.querySelector<HTMLElement>('form [aria-invalid="true"]')?.focus({ preventScroll: false }),
    );
    return () => cancelAnimationFrame(frame);
  }, [props.saveError]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const budget = budgetErrors(form);
    if (budget.tokens || budget.time) return;
    if (concurrencyError(form) || waitForNodesError(form)) return;
    if (schemaError(form.results)) return;
    if (form.approvalMode === "tools" && form.approvalTools.length === 0) {
      setApprovalError("Pick at least one tool, or choose another policy");
      return;
    }
    setApprovalError(null);
    props.onSave();
  };

  return (
    <form onSubmit={submit}>
      {/* A viewer sees the job as it is; a disabled fieldset makes every control read-only at once. */}
      <fieldset disabled={!canOperate} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }}>
        <Stack gap="lg">
          <TaskSection {...section} />
          <NodesSection {...section} nodes={props.nodes} />
          <FleetSection {...section} />
          <ModelSection {...section} providers={props.providers} providersError={props.providersError} />
          <BudgetSection {...section} />
          <ApprovalSection
            {...section}
            nodes={props.nodes}
            error={approvalError}
            clearError={() => setApprovalError(null)}
          />
          <TriggersSection {...section} hasStoredSecret={props.hasStoredSecret} />
          <ResultsSection {...section} jobId={props.jobId} />

          {props.saveError && !saved.hasFieldErrors ? <ErrorAlert error={props.saveError} title="Not saved" /> : null}
          {saved.hasFieldErrors && Object.keys(saved.errors).length > 0 && (
            <Alert color="red" variant="light" title="Not saved" aria-label="Not saved">
              <Text size="sm">Change the fields marked in red, then save again.</Text>
              {saved.elsewhere.map((line) => (
                <Text size="sm" key={line}>
                  {line}
                </Text>
              ))}
            </Alert>
          )}
          {canOperate && (
            <Group justify="space-between">
              <Group>
                <Button type="submit" leftSection={<IconDeviceFloppy size={16} />} loading={props.saving}>
                  {isNew ? "Create job" : "Save changes"}
                </Button>
                <Button component={Link} to="/jobs" variant="default">
                  Cancel
                </Button>
              </Group>
              {!isNew && (
                <Button color="red" variant="subtle" leftSection={<IconTrash size={16} />} onClick={props.onDelete}>
                  Delete job
                </Button>
              )}
            </Group>
          )}
        </Stack>
      </fieldset>
    </form>
  );
}
