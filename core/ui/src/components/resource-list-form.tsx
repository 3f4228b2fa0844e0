import { Button, Group, Modal, type ModalProps, Stack } from "@mantine/core";
import type { FormEvent, ReactNode } from "react";
import { ErrorAlert } from "./query-state.tsx";

/**
 * The add or edit form of a resource page (ResourceList) in its modal: the fields (children), the
 * Core's refusal, Cancel and the submit button. `shown` replaces the form once there is something
 * to show only once (a new token).
 */
export function ResourceFormModal({
  opened,
  onClose,
  title,
  onSubmit,
  submitLabel,
  submitting,
  canSubmit,
  submitColor,
  error,
  errorTitle,
  footerStart,
  noValidate,
  shown,
  modal,
  children,
}: {
  opened: boolean;
  onClose: () => void;
  title: ReactNode;
  onSubmit: () => void;
  submitLabel: ReactNode;
  submitting: boolean;
  canSubmit: boolean;
  submitColor?: string;
  /** The mutation's error, said above the buttons. */
  error: unknown;
  errorTitle: string;
  /** A button on the footer's left (a provider's Test). */
  footerStart?: ReactNode;
  /** The form's own checks are off: the Core says what is wrong, at the field. */
  noValidate?: boolean;
  shown?: ReactNode;
  modal?: Pick<ModalProps, "size" | "closeOnClickOutside" | "closeOnEscape">;
  children: ReactNode;
}) {
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit();
  };
  const buttons = (
    <>
      <Button variant="default" onClick={onClose}>
        Cancel
      </Button>
      <Button type="submit" color={submitColor} loading={submitting} disabled={!canSubmit}>
        {submitLabel}
      </Button>
    </>
  );
  return (
    <Modal opened={opened} onClose={onClose} title={title} {...modal}>
      {shown ?? (
        <form onSubmit={submit} noValidate={noValidate}>
          <Stack>
            {children}
            {error ? <ErrorAlert error={error} title={errorTitle} /> : null}
            {footerStart ? (
              <Group justify="space-between">
                {footerStart}
                <Group gap="xs">{buttons}</Group>
              </Group>
            ) : (
              <Group justify="flex-end">{buttons}</Group>
            )}
          </Stack>
        </form>
      )}
    </Modal>
  );
}
