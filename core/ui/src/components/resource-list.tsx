import { Button, Group, Table, type TableTdProps } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { Fragment, type ReactNode, useState } from "react";
import { ConfirmDangerModal, DangerIconButton, type DangerMutation } from "./danger-action.tsx";
import { Empty } from "./empty-state.tsx";
import { PageHeader } from "./page-header.tsx";
import { QueryState } from "./query-state.tsx";

/** One column: its header and how a row's cell shows the item. */
export interface ResourceColumn<T> {
  header: string;
  cell: (item: T) => ReactNode;
  /** Props of the column's cells (weight, width). */
  td?: TableTdProps;
}

/** A row's destructive action (delete, revoke): a red icon on each row, and the modal that asks first. */
export interface ResourceRemoval<T, V> {
  /** The button's tooltip and the modal's confirm label: "Delete", "Revoke". */
  verb: string;
  /** The modal's title. */
  title: string;
  mutation: DangerMutation<V> & { reset: () => void };
  variables: (item: T) => V;
  /** The item's name in the button's accessible label ("Delete <name>"). */
  name: (item: T) => string;
  /** What the modal asks. */
  confirm: (item: T) => ReactNode;
  /** Why this row cannot be removed (its tooltip then), or false. */
  refused?: (item: T) => string | false;
}

/** The list a query answers; a TanStack Query result fits. */
interface ListQuery<T> {
  data: T[] | undefined;
  isPending: boolean;
  error: unknown;
  refetch: () => unknown;
}

/**
 * A page of one kind of resource (providers, secrets, API tokens, users): the header with its add
 * button, loading and failure, the empty state or the table, a remove action on each row with its
 * confirmation, and whatever the page adds below (notes, its own modals) as children.
 */
export function ResourceList<T, V>({
  title,
  description,
  add,
  query,
  sort,
  rowKey,
  columns,
  actions,
  details,
  remove,
  empty,
  minWidth,
  above,
  children,
}: {
  title: string;
  description: ReactNode;
  /** The header's button; left out for who may not add. */
  add?: { label: string; onClick: () => void } | false;
  query: ListQuery<T>;
  sort?: (a: T, b: T) => number;
  rowKey: (item: T) => string;
  columns: ResourceColumn<T>[];
  /** A row's own buttons, before its remove button. */
  actions?: (item: T) => ReactNode;
  /** A full-width row under the item's own, when this returns something (a channel's test answer). */
  details?: (item: T) => ReactNode;
  /** Left out for who may not remove. */
  remove?: ResourceRemoval<T, V> | false;
  empty: { title: string; body?: ReactNode };
  /** The table scrolls sideways below this width (phones). */
  minWidth: number;
  /** Shown between the header and the list (a warning about the whole list). */
  above?: ReactNode;
  children?: ReactNode;
}) {
  const [removing, setRemoving] = useState<T | null>(null);
  const items = sort ? [...(query.data ?? [])].sort(sort) : (query.data ?? []);
  const hasActions = Boolean(actions || remove);
  return (
    <>
      <PageHeader
        title={title}
        description={description}
        actions={
          add && (
            <Button leftSection={<IconPlus size={16} />} onClick={add.onClick}>
              {add.label}
            </Button>
          )
        }
      />
      {above}
      <QueryState isPending={query.isPending} error={query.error} onRetry={() => query.refetch()}>
        {items.length === 0 ? (
          <Empty title={empty.title}>{empty.body}</Empty>
        ) : (
          <Table.ScrollContainer minWidth={minWidth}>
            <Table verticalSpacing="sm">
              <Table.Thead>
                <Table.Tr>
                  {columns.map((column) => (
                    <Table.Th key={column.header}>{column.header}</Table.Th>
                  ))}
                  {hasActions && (
                    <Table.Th>
                      <span className="sr-only">Actions</span>
                    </Table.Th>
                  )}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((item) => {
                  const below = details?.(item);
                  return (
                    <Fragment key={rowKey(item)}>
                      <Table.Tr>
                        {columns.map((column) => (
                          <Table.Td key={column.header} {...column.td}>
                            {column.cell(item)}
                          </Table.Td>
                        ))}
                        {hasActions && (
                          <Table.Td>
                            <Group gap={4} wrap="nowrap" justify="flex-end">
                              {actions?.(item)}
                              {remove && <RemoveButton item={item} remove={remove} onClick={() => setRemoving(item)} />}
                            </Group>
                          </Table.Td>
                        )}
                      </Table.Tr>
                      {below ? (
                        <Table.Tr>
                          <Table.Td colSpan={columns.length + (hasActions ? 1 : 0)}>{below}</Table.Td>
                        </Table.Tr>
                      ) : null}
                    </Fragment>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
      {children}
      {remove && (
        <ConfirmDangerModal
          target={removing}
          onClose={() => setRemoving(null)}
          mutation={remove.mutation}
          variables={remove.variables}
          title={remove.title}
          confirmLabel={remove.verb}
        >
          {removing !== null && remove.confirm(removing)}
        </ConfirmDangerModal>
      )}
    </>
  );
}

function RemoveButton<T, V>({
  item,
  remove,
  onClick,
}: {
  item: T;
  remove: ResourceRemoval<T, V>;
  onClick: () => void;
}) {
  const refused = remove.refused?.(item) ?? false;
  return (
    <DangerIconButton
      tooltip={refused || remove.verb}
      ariaLabel={`${remove.verb} ${remove.name(item)}`}
      disabled={refused !== false}
      onClick={() => {
        // A failure shown for the last row asked about must not show for this one.
        remove.mutation.reset();
        onClick();
      }}
    />
  );
}
