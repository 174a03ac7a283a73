import sys

import tenure
from tenure import errors

profile, product_db = sys.argv[1], sys.argv[2]
with tenure.Workstation(profile, product_db) as ws:
    status = ws.status()
    print(status.sentence, f"({status.grace_days_left} days of grace left)")
    try:
        ws.authorize("ana")
        print("ana may work")
    except errors.Refused as refused:
        print(f"ana may not work: {refused}")
