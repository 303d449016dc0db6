SELECT count()
FROM {database}.events
WHERE timestamp < toDateTime(1698710400);

SELECT create_table_query
FROM system.tables
WHERE database = '{database}'
  AND name = 'events';

ALTER TABLE {database}.events MODIFY TTL timestamp + toIntervalDay(20);

SELECT count()
FROM {database}.events
WHERE timestamp < toDateTime(1698710400);
