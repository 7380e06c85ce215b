"""Files in and out: readers of geodata and tables into validated rows; GeoJSON and CSV writers."""
