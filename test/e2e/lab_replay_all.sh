#!/bin/sh
# Every shipped topology x every pcap in pcaps/, offline (suite 'slow').
LAB_MATRIX=full exec sh "$(dirname "$0")/lab_replay.sh" "$@"
