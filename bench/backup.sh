#!/bin/sh
# Backup create, verify and restore of a register of N people with photos,
# beside a plain copy of the database file, in one run.
set -e
N=${1:-100000}
L=${LANYARD_BIN:-target/release/lanyard}
W=${WORK:-/var/tmp/bk}
D=$W/data
mkdir -p $W
rm -rf $D $W/b.age $W/copy.db $W/ops.key
export LANYARD_DATA_DIR=$D LANYARD_PASSPHRASE='lanyard demo passphrase'
/usr/bin/time -f "demo %e s %M KB" $L demo --people $N --no-serve > $W/demo.log
age-keygen -o $W/ops.key 2>/dev/null
R=$(grep -o 'age1[a-z0-9]*' $W/ops.key | head -1)
ls -la $D/lanyard.db
sync
/usr/bin/time -f "copy %e s %M KB" cp $D/lanyard.db $W/copy.db
/usr/bin/time -f "create %e s %M KB" $L backup create --out $W/b.age --recipient $R
ls -la $W/b.age
/usr/bin/time -f "verify %e s %M KB" $L backup verify $W/b.age --identity $W/ops.key
/usr/bin/time -f "restore %e s %M KB" $L backup restore $W/b.age --identity $W/ops.key
/usr/bin/time -f "watch %e s %M KB" $L watch --once || true
