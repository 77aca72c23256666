"""``tradestorm verify``: is a saved results folder what was sealed, and does it still judge
to the verdict it records?

Exit 0 verified; 1 not verified (a file changed, went missing or appeared since the seal,
or the samples judged again give another verdict); 2 nothing to verify (no manifest or
evidence, or a malformed one: named with its file and field).
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("results_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.pass_context
def verify(ctx: click.Context, results_dir: Path) -> None:
    """Check RESULTS_DIR against its manifest and judge its saved samples again, offline."""
    from slo.verify import verify as verify_folder

    outcome = verify_folder(results_dir)
    seal = outcome.seal
    harness = seal.sealed.get("harness") or {}
    click.echo(f"sealed at {seal.sealed.get('sealed_at')} by tradestorm "
               f"{harness.get('version') or '?'} (commit {harness.get('git_commit') or 'unknown'})")
    for word, paths in (("changed", seal.changed), ("missing", seal.missing),
                        ("not sealed", seal.added)):
        for path in paths:
            click.echo(f"  {word}: {results_dir / path}")
    if seal.intact:
        click.echo(f"  all {len(seal.sealed.get('files') or {})} sealed files are unchanged")
    recorded, again = outcome.recorded, outcome.rejudged
    click.echo(f"verdict recorded: {recorded.get('verdict')} (score {recorded.get('score')}); "
               f"judged again offline: {again.verdict} (score "
               f"{None if again.score is None else round(again.score, 2)})")
    for line in outcome.differences:
        click.echo(f"  differs: {line}")
    if outcome.verified:
        click.echo("verified")
        ctx.exit(0)
    click.echo("NOT verified")
    ctx.exit(1)
