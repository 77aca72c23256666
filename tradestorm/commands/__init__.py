"""One module per group of ``tradestorm`` subcommands (see ``tradestorm.cli.COMMANDS``)."""
