#!/usr/bin/env bash
# placeholder, written next
exit 0
