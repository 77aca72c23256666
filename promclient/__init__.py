"""The Prometheus client every part uses (the gate, the runner's live readers, the chaos
probes): range and instant queries, batched and parallel, with errors mapped
(``source``), the series they return (``series``) and their errors (``errors``).
It imports nothing of the product."""
