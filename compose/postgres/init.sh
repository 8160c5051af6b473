#!/bin/sh
# Runs once when the PostgreSQL volume is new: the Iceberg catalog database and the
# database Make.com reads. Passwords come from the container's environment.
set -e
psql -v ON_ERROR_STOP=1 --username postgres <<SQL
CREATE ROLE iceberg LOGIN PASSWORD '${ICEBERG_CATALOG_PASSWORD}';
CREATE DATABASE iceberg_catalog OWNER iceberg;
CREATE ROLE makerates_publisher LOGIN PASSWORD '${MAKERATES_PUBLISH_PASSWORD}';
CREATE DATABASE makerates OWNER makerates_publisher;
SQL
