"""Task modules. Task names are explicit (`<area>.<action>`) so routes and schedules stay stable."""
