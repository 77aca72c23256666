"""tradestorm's trading load, for plain Locust.

    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:PORT \
        --load-profile market-open --rate 100 --target-users 40 --profile-duration 2m \
        --accounts-file STATE/accounts.json --journal-dir RESULTS/journal \
        --csv RESULTS/locust

Every option also reads an environment variable (``TRADESTORM_PROFILE``,
``TRADESTORM_USERS``, ``TRADESTORM_DURATION``, ``TRADESTORM_SEED``, ...): see
``locust -f loadtests/locustfile.py --help``. Users and weights: :mod:`loadtests.users`;
profiles: :mod:`loadtests.profiles`.
"""

import sys
from pathlib import Path

try:
    import loadtests  # noqa: F401
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.hooks import install  # noqa: E402
from loadtests.shape import ProfileShape  # noqa: E402,F401
from loadtests.users import (  # noqa: E402,F401
    AnalyticsUser,
    MarketWatcher,
    OrderArrivals,
    PortfolioViewer,
    Trader,
)

install()
