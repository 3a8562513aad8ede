"""Where sandboxed executions run: ``local`` (asyncio, this machine) or ``ray`` (a cluster)."""
