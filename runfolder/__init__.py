"""The results folder of one run: its layout, ``run.json``, and the runs before it.

The folder is the contract between the runner (which writes it), the gate, the
report and the run index (which read it, now or later on saved results). This
package is the ground floor under all of them and imports none of them:

- :mod:`runfolder.layout`: the file names;
- :mod:`runfolder.record`: ``run.json``, read and written (versioned by ``schema``);
- :mod:`runfolder.history`: which earlier run a run is compared with.
- :mod:`runfolder.sends`: the load's ``sends.json`` (its model, route classes, sends).

Nothing else parses ``run.json``.
"""
