#!/bin/bash
# wait for the training to finish, then run the study on the CPU lock
while [ ! -f /work/runs/s15/train-w48.end ]; do sleep 20; done
cd /work/runs/s15 && flock /tmp/genlab-cpu.lock ./study-w48.sh > study-w48.log 2>&1
date -u +%FT%TZ > study-w48.end
