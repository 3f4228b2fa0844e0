import { Card, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

/** One titled card of the job page: a form section or a status panel. */
export function Section({
  title,
  description,
  children,
}: {
  title: string;
  description?: string;
  children: ReactNode;
}) {
  return (
    <Card withBorder padding="lg">
      <Title order={4}>{title}</Title>
      {description && (
        <Text size="sm" c="dimmed" mb="sm">
          {description}
        </Text>
      )}
      <Stack gap="md" mt={description ? 0 : "sm"}>
        {children}
      </Stack>
    </Card>
  );
}
