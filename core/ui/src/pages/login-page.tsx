import { Alert, Button, Center, Group, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { IconBox } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { useLogin } from "../api/auth.ts";
import { ApiError, errorMessage } from "../api/client.ts";

/** Only same-app paths are followed after login, so `?next=` cannot send the user elsewhere. */
function safeNext(next: string | null): string {
  return next?.startsWith("/") && !next.startsWith("//") && next !== "/login" ? next : "/";
}

export function LoginPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const login = useLogin();
  const [username, setUsername] = useState("admin");
  const [password, setPassword] = useState("");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate(
      { username: username.trim(), password },
      { onSuccess: () => navigate(safeNext(params.get("next")), { replace: true }) },
    );
  };

  const message =
    login.error instanceof ApiError && login.error.status === 401
      ? "Wrong username or password."
      : login.error
        ? errorMessage(login.error)
        : null;

  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={380}>
        <form onSubmit={submit} aria-labelledby="login-title">
          <Stack>
            <Group gap={8}>
              <IconBox size={28} aria-hidden />
              <Title order={2} id="login-title">
                FabriCore
              </Title>
            </Group>
            <Text c="dimmed" size="sm">
              Sign in to manage your fleet.
            </Text>
            {message && (
              <Alert color="red" variant="light" role="alert">
                {message}
              </Alert>
            )}
            <TextInput
              label="Username"
              autoComplete="username"
              required
              value={username}
              onChange={(e) => setUsername(e.currentTarget.value)}
            />
            <PasswordInput
              label="Password"
              autoComplete="current-password"
              required
              data-autofocus
              autoFocus
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <Button type="submit" loading={login.isPending} fullWidth>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
