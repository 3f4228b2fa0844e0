import { ActionIcon, Switch, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconPlayerPlay } from "@tabler/icons-react";
import { useNavigate } from "react-router";
import { errorMessage } from "../api/client.ts";
import { useRunJob, useSetJobEnabled } from "../api/jobs.ts";
import type { Job } from "../api/types.ts";

/* A job's two quick actions, shared by the jobs table and the jobs cards. */

export function EnabledSwitch({ job, readOnly }: { job: Job; readOnly: boolean }) {
  const setEnabled = useSetJobEnabled();
  const enabled = setEnabled.isPending ? Boolean(setEnabled.variables?.enabled) : job.enabled !== false;
  return (
    <Switch
      checked={enabled}
      aria-label={`${job.name} ${enabled ? "enabled" : "paused"}`}
      label={enabled ? "on" : "paused"}
      disabled={readOnly || setEnabled.isPending}
      onChange={(e) =>
        setEnabled.mutate(
          { id: job.id, enabled: e.currentTarget.checked },
          {
            onError: (error) =>
              notifications.show({ color: "red", title: `Could not change ${job.name}`, message: errorMessage(error) }),
          },
        )
      }
    />
  );
}

export function RunNowButton({ job }: { job: Job }) {
  const run = useRunJob();
  const navigate = useNavigate();
  return (
    <Tooltip label="Run now" withArrow>
      <ActionIcon
        variant="light"
        aria-label={`Run ${job.name} now`}
        loading={run.isPending}
        onClick={() =>
          run.mutate(
            { id: job.id },
            {
              onSuccess: ({ runId }) => navigate(`/runs/${runId}`),
              onError: (error) =>
                notifications.show({ color: "red", title: `${job.name} did not start`, message: errorMessage(error) }),
            },
          )
        }
      >
        <IconPlayerPlay size={16} />
      </ActionIcon>
    </Tooltip>
  );
}
