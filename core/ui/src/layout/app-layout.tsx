import {
  ActionIcon,
  Anchor,
  AppShell,
  Badge,
  Burger,
  Center,
  Divider,
  Group,
  Loader,
  NavLink,
  Text,
  Tooltip,
  useComputedColorScheme,
  useMantineColorScheme,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import {
  IconBox,
  IconBriefcase,
  IconCertificate,
  IconCpu,
  IconKey,
  IconLayoutDashboard,
  IconListSearch,
  IconLogout,
  IconMoon,
  IconPlayerPlay,
  IconPlugConnected,
  IconRobot,
  IconServer2,
  IconSpeakerphone,
  IconSun,
  IconUserCircle,
  IconUsers,
} from "@tabler/icons-react";
import { Suspense, useEffect } from "react";
import { Link, Outlet, useLocation, useNavigate } from "react-router";
import { useLogout } from "../api/auth.ts";
import { useMe, usePermissions } from "../api/me.ts";

const NAV = [
  { to: "/", label: "Dashboard", icon: IconLayoutDashboard, exact: true },
  { to: "/nodes", label: "Nodes", icon: IconServer2 },
  { to: "/mcp-servers", label: "MCP", icon: IconPlugConnected },
  { to: "/mcp-clients", label: "MCP clients", icon: IconRobot },
  { to: "/jobs", label: "Jobs", icon: IconBriefcase },
  { to: "/runs", label: "Runs", icon: IconPlayerPlay },
  { to: "/providers", label: "Providers", icon: IconCpu },
  { to: "/channels", label: "Channels", icon: IconSpeakerphone },
  { to: "/secrets", label: "Secrets", icon: IconKey },
] as const;

/** Account and administration: API tokens are every user's own; the rest is for admins. */
const SETTINGS_NAV = [
  { to: "/account", label: "Your account", icon: IconUserCircle, adminOnly: false },
  { to: "/tokens", label: "API tokens", icon: IconCertificate, adminOnly: false },
  { to: "/users", label: "Users", icon: IconUsers, adminOnly: true },
  { to: "/audit", label: "Audit log", icon: IconListSearch, adminOnly: true },
] as const;

function ColorSchemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const computed = useComputedColorScheme("light", { getInitialValueInEffect: true });
  const next = computed === "dark" ? "light" : "dark";
  return (
    <Tooltip label={`Switch to ${next} mode`} withArrow>
      <ActionIcon
        variant="default"
        size="lg"
        onClick={() => setColorScheme(next)}
        aria-label={`Switch to ${next} mode`}
      >
        {computed === "dark" ? <IconSun size={18} /> : <IconMoon size={18} />}
      </ActionIcon>
    </Tooltip>
  );
}

export function AppLayout() {
  const [opened, { toggle, close }] = useDisclosure(false);
  const location = useLocation();
  const navigate = useNavigate();
  const logout = useLogout();
  const me = useMe();
  const { isAdmin } = usePermissions();

  // On a phone the navbar overlays the page; following a link should reveal the page again.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every navigation on purpose
  useEffect(() => close(), [location.pathname]);

  const isActive = (to: string, exact?: boolean) =>
    exact ? location.pathname === to : location.pathname === to || location.pathname.startsWith(`${to}/`);

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <a href="#main" className="fc-skip-link">
        Skip to content
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label={opened ? "Close navigation" : "Open navigation"}
            />
            <Anchor component={Link} to="/" underline="never" c="inherit" aria-label="FabriCore home">
              <Group gap={8} wrap="nowrap">
                <IconBox size={24} aria-hidden />
                <Text fw={700} size="lg">
                  FabriCore
                </Text>
              </Group>
            </Anchor>
          </Group>
          <Group gap="xs" wrap="nowrap">
            {me.data && (
              <Group gap={6} visibleFrom="xs" wrap="nowrap">
                <Anchor component={Link} to="/account" size="sm" c="dimmed" title="Your account and password">
                  {me.data.username}
                </Anchor>
                <Badge size="sm" variant="light" color={me.data.role === "admin" ? "red" : "gray"}>
                  {me.data.role}
                </Badge>
              </Group>
            )}
            <ColorSchemeToggle />
            <Tooltip label="Sign out" withArrow>
              <ActionIcon
                variant="default"
                size="lg"
                aria-label="Sign out"
                loading={logout.isPending}
                onClick={() => logout.mutate(undefined, { onSettled: () => navigate("/login", { replace: true }) })}
              >
                <IconLogout size={18} />
              </ActionIcon>
            </Tooltip>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        {NAV.map((item) => (
          <NavLink
            key={item.to}
            component={Link}
            to={item.to}
            label={item.label}
            leftSection={<item.icon size={18} aria-hidden />}
            active={isActive(item.to, "exact" in item ? item.exact : false)}
            aria-current={isActive(item.to, "exact" in item ? item.exact : false) ? "page" : undefined}
          />
        ))}
        <Divider my="xs" label="Settings" labelPosition="left" />
        {SETTINGS_NAV.filter((item) => isAdmin || !item.adminOnly).map((item) => (
          <NavLink
            key={item.to}
            component={Link}
            to={item.to}
            label={item.label}
            leftSection={<item.icon size={18} aria-hidden />}
            active={isActive(item.to)}
            aria-current={isActive(item.to) ? "page" : undefined}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main id="main">
        <Suspense
          fallback={
            <Center py="xl">
              <Loader aria-label="Loading page" />
            </Center>
          }
        >
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
