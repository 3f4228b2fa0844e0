import { Center, Loader } from "@mantine/core";
import type { ReactNode } from "react";
import { Empty } from "./empty-state.tsx";
import { PageHeader } from "./page-header.tsx";

/** Admin pages render only for admins: others get an explanation instead of a wall of 403s. */
export function AdminOnly({
  known,
  isAdmin,
  what,
  children,
}: {
  known: boolean;
  isAdmin: boolean;
  what: string;
  children: ReactNode;
}) {
  if (!known)
    return (
      <Center py="xl">
        <Loader aria-label="Loading" />
      </Center>
    );
  if (!isAdmin)
    return (
      <>
        <PageHeader title={what} />
        <Empty title="Admins only">Ask an admin if you need access to this page.</Empty>
      </>
    );
  return <>{children}</>;
}
