#!/bin/bash
cd /work/runs/s14
date -u > train.start
/usr/bin/time -v bash train-ip.sh > train.log 2> train.time
date -u > train.end
bash study-ip.sh > study.log 2>&1
