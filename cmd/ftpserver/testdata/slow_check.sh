#!/bin/sh
# An upload check that takes too long: it ignores the file and sleeps.
exec sleep 10
