"""The MCP server (official ``mcp`` SDK, 2.x ``MCPServer``): at ``/mcp`` in the API and as
``mugpos mcp`` over stdio. Tools and resources are adapters over the REST routes."""
