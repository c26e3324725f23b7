"""The `sanctions` command line, assembled from the engine's commands and the web app's.

engine/ never imports web/, so the commands that need both (user and API-key administration, the
`run` command with its demo accounts) are put together here, the one place that sees both.
"""

from __future__ import annotations

from engine.cli import main
from engine.pipeline.runner import run_command
from web.auth.accounts import create_demo_accounts
from web.auth.cli import apikeys_cli, users_cli

main.add_command(users_cli)
main.add_command(apikeys_cli)
main.add_command(run_command(create_demo_accounts))

__all__ = ["main"]

if __name__ == "__main__":
    main()
