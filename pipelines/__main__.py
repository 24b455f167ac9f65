"""``python -m mlops_blueprint.pipelines pipeline|sandbox ...``"""

import sys

from mlops_blueprint.pipelines.cli import main

sys.exit(main())
