"""Packaging: the repository keeps ``tools/`` and ``mcp_servers/`` at the top, but installed they are
``agentkit_tools`` and ``agentkit_mcp_servers``: names of agentkit's own, so a user's ``tools.py`` or
``mcp_servers/`` in the working folder cannot shadow them. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["agentkit", "agentkit.*"]), "agentkit_tools", "agentkit_mcp_servers"],
    package_dir={"agentkit_tools": "tools", "agentkit_mcp_servers": "mcp_servers"},
)
