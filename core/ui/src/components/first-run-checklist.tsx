import { Anchor, Card, Group, List, Progress, Text, ThemeIcon, Title } from "@mantine/core";
import { IconCheck, IconCircleDashed } from "@tabler/icons-react";
import { Link } from "react-router";
import { useProviders } from "../api/providers.ts";
import type { FleetNode, Job, Run } from "../api/types.ts";

/* Issue 22.7: a new install's dashboard says what to do, in order — a model provider, a Node, a
 * job, a run — each step done when the Core has it; gone once a run has succeeded. */

export function FirstRunChecklist({
  nodes,
  jobs,
  runs,
}: {
  nodes: FleetNode[] | undefined;
  jobs: Job[] | undefined;
  runs: Run[] | undefined;
}) {
  const providers = useProviders();
  if (!providers.data || !nodes || !jobs || !runs) return null;
  if (runs.some((r) => r.status === "succeeded")) return null;
  const steps = [
    { done: providers.data.length > 0, label: "Add a model provider (LM Studio, OpenAI, …)", to: "/providers" },
    { done: nodes.some((n) => n.lastSeenAt !== null), label: "Enroll a Node and start it on a server", to: "/nodes" },
    { done: jobs.length > 0, label: "Create a job: a prompt, a model and its Nodes", to: "/jobs/new" },
    { done: runs.length > 0, label: "Run it and read the transcript", to: "/jobs" },
  ];
  const done = steps.filter((s) => s.done).length;
  return (
    <Card withBorder padding="lg" data-testid="first-run-checklist">
      <Group justify="space-between" mb="xs">
        <Title order={3}>Get started</Title>
        <Text size="sm" c="dimmed">
          {done} of {steps.length} done
        </Text>
      </Group>
      <Progress value={(done / steps.length) * 100} mb="md" aria-label={`${done} of ${steps.length} steps done`} />
      <List spacing="sm" center>
        {steps.map((step) => (
          <List.Item
            key={step.label}
            icon={
              <ThemeIcon
                color={step.done ? "green" : "gray"}
                variant={step.done ? "filled" : "light"}
                size={22}
                radius="xl"
              >
                {step.done ? <IconCheck size={14} /> : <IconCircleDashed size={14} />}
              </ThemeIcon>
            }
          >
            {step.done ? (
              <Text size="sm" c="dimmed" td="line-through">
                {step.label}
              </Text>
            ) : (
              <Anchor component={Link} to={step.to} size="sm">
                {step.label}
              </Anchor>
            )}
          </List.Item>
        ))}
      </List>
    </Card>
  );
}
