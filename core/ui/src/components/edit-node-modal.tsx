import { Button, Group, Modal, Stack, TagsInput, TextInput } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, api, enc, errorMessage, fieldErrors } from "../api/client.ts";
import { nodeKeys } from "../api/nodes.ts";
import type { FleetNode } from "../api/types.ts";
import { parseLabels } from "./labels.tsx";
import { ErrorAlert } from "./query-state.tsx";

/* Issue 22.5: rename a Node or edit its labels after enrollment (PATCH /api/nodes/:id). The Node
 * keeps running; the next run sees the new name and labels. A taken name is said at the field. */

function useUpdateNode() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: { name?: string; labels?: Record<string, string> } }) =>
      api.patch<FleetNode>(`/api/nodes/${enc(id)}`, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: nodeKeys.all }),
  });
}

export function EditNodeModal({ node, opened, onClose }: { node: FleetNode; opened: boolean; onClose: () => void }) {
  const update = useUpdateNode();
  const [name, setName] = useState(node.name);
  const [labels, setLabels] = useState<string[]>([]);
  const [edited, setEdited] = useState(false);

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset to the stored values only when the dialog opens
  useEffect(() => {
    if (!opened) return;
    update.reset();
    setName(node.name);
    setLabels(Object.entries(node.labels ?? {}).map(([k, v]) => `${k}=${v}`));
    setEdited(false);
  }, [opened]);

  const error = update.error;
  // The Core's word on the name (taken, bad characters) belongs at the field, and goes once edited.
  const fromSchema = fieldErrors(error).name;
  const aboutName = fromSchema !== undefined || (error instanceof ApiError && error.status === 409);
  const nameError = aboutName && !edited ? (fromSchema ?? errorMessage(error)) : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setEdited(false);
    update.mutate(
      {
        id: node.id,
        body: { ...(name.trim() !== node.name ? { name: name.trim() } : {}), labels: parseLabels(labels) },
      },
      { onSuccess: onClose },
    );
  };

  return (
    <Modal opened={opened} onClose={onClose} title={`Edit ${node.name}`} centered>
      <form onSubmit={submit}>
        <Stack>
          <TextInput
            label="Name"
            description="Jobs refer to the Node by id, so they keep working; tool names use the new name"
            required
            value={name}
            onChange={(e) => {
              setName(e.currentTarget.value);
              setEdited(true);
            }}
            error={nameError}
            data-autofocus
          />
          <TagsInput
            label="Labels"
            description="key=value pairs; press Enter after each. Selectors match them from the next run on"
            value={labels}
            onChange={setLabels}
            clearable
          />
          {error && !aboutName ? <ErrorAlert error={error} title="Not saved" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={update.isPending} disabled={!name.trim()}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
