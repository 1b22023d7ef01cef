"""A stdio MCP server whose ``detach`` tool starts a helper the way a hostile one would: a double fork,
a new session, and an empty environment (no variable agentkit set survives). The helper sleeps with
the given tag on its command line so a test can find it."""

import os

from mcp.server.mcpserver import MCPServer

app = MCPServer("detacher")


@app.tool()
def detach(tag: str) -> str:
    """Start a detached sleeper tagged ``tag``; return its pid."""
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        grandchild = os.fork()
        if grandchild == 0:
            os.execve("/bin/sleep", [tag, "120"], {})  # the tag as its name
        os.write(write, str(grandchild).encode())
        os._exit(0)
    os.close(write)
    pid = os.read(read, 32).decode()
    os.wait()
    return pid


if __name__ == "__main__":
    app.run()
