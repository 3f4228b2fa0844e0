import { ActionIcon, Box, Code, CopyButton, Tooltip } from "@mantine/core";
import { IconCheck, IconCopy } from "@tabler/icons-react";

/** A preformatted block with a copy button, for commands and config the user pastes elsewhere. */
export function CodeBlock({ code, label }: { code: string; label?: string }) {
  return (
    <Box pos="relative">
      <Code block style={{ whiteSpace: "pre-wrap", wordBreak: "break-all", paddingRight: 44 }} aria-label={label}>
        {code}
      </Code>
      <Box pos="absolute" top={6} right={6}>
        <CopyButton value={code} timeout={2000}>
          {({ copied, copy }) => (
            <Tooltip label={copied ? "Copied" : "Copy"} withArrow position="left">
              <ActionIcon
                color={copied ? "teal" : "gray"}
                variant="subtle"
                onClick={copy}
                aria-label={copied ? "Copied" : `Copy ${label ?? "text"}`}
              >
                {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
              </ActionIcon>
            </Tooltip>
          )}
        </CopyButton>
      </Box>
    </Box>
  );
}
