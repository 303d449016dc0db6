SELECT name,
  max(version),
  argMax(definition, version),
  argMax(created_at, version)
FROM {database}.segment_definitions
GROUP BY name
ORDER BY name;

SELECT max(refresh)
FROM {database}.segment_refreshes;

SELECT name
FROM system.tables
WHERE database = '{database}'
  AND startsWith(name, 'segment_snapshot_');

CREATE TABLE {database}.segment_snapshot_1700438400000_0 ENGINE = MergeTree
ORDER BY person_id AS
SELECT *
FROM (
  SELECT person_id,
    toUInt8(((a0 >= 2) AND (a1 <= 0))) AS r0,
    toUInt32(intDiv(1700438400 - a2, 86400)) AS rfm_recency_days,
    a3 AS rfm_frequency,
    a4 AS rfm_monetary
  FROM (
    SELECT any(_pid) AS person_id,
      countIf((type IN ('track', 'page', 'screen') AND (event = 'Product Viewed')) AND timestamp >= toDateTime(1697846400)) AS a0,
      countIf((type IN ('track', 'page', 'screen') AND (event = 'Order Completed')) AND timestamp >= toDateTime(1697846400)) AS a1,
      maxIf(toUInt32(timestamp), type = 'track' AND event = 'Order Completed') AS a2,
      countIf(type = 'track' AND event = 'Order Completed') AS a3,
      sumIf(
        toFloat64OrZero(visitParamExtractString(property_paths, 'revenue')),
        type = 'track' AND event = 'Order Completed'
      ) AS a4
    FROM (
      SELECT event_key,
        type,
        anonymous_id,
        user_id,
        group_id,
        timestamp,
        timestamp_ms,
        property_paths,
        trait_paths,
        event,
        page_path,
        page_url,
        page_title,
        referrer_host,
        utm_source,
        utm_medium,
        utm_campaign,
        device_type,
        browser,
        os,
        locale,
        geo_country,
        source,
        if(linked_person != 0, linked_person, identity_key) AS person,
        if(linked_person != 0, linked_id, if(user_id != '', user_id, anonymous_id)) AS _pid
      FROM (
        SELECT event_key,
          type,
          anonymous_id,
          user_id,
          group_id,
          timestamp,
          timestamp_ms,
          property_paths,
          trait_paths,
          event,
          page_path,
          page_url,
          page_title,
          referrer_host,
          utm_source,
          utm_medium,
          utm_campaign,
          device_type,
          browser,
          os,
          locale,
          geo_country,
          source,
          identity_key
        FROM {database}.events
        WHERE timestamp <= toDateTime(1700438400)
          AND if(user_id != '', user_id, anonymous_id) != ''
          AND device_type != 'bot'
        LIMIT 1 BY event_key
      ) AS e
      ANY LEFT JOIN (
        SELECT cityHash64(id) AS identity_key,
          cityHash64(person) AS linked_person,
          person AS linked_id
        FROM (
          SELECT id,
            if(t2 != '', t2, t1) AS person
          FROM (
            SELECT id,
              target AS t1
            FROM (
              SELECT id,
                argMinMerge(target) AS target
              FROM {database}.identity_links
              GROUP BY id
            )
          ) AS a
          ANY LEFT JOIN (
            SELECT id AS t1,
              target AS t2
            FROM (
              SELECT id,
                argMinMerge(target) AS target
              FROM {database}.identity_links
              GROUP BY id
            )
          ) AS b USING t1
        )
      ) AS p USING identity_key
    )
    GROUP BY person
  )
  WHERE 1
);

SELECT count()
FROM {database}.segment_snapshot_1700438400000_0;

INSERT INTO {database}.segment_members (refresh, segment, person_id)
SELECT toUInt64(1700438400000),
  '',
  person_id
FROM {database}.segment_snapshot_1700438400000_0;

INSERT INTO {database}.segment_members (refresh, segment, person_id)
SELECT toUInt64(1700438400000),
  segment,
  person_id
FROM (
  SELECT person_id,
    arrayJoin(arrayFilter((n, c) -> c = 1, ['window_shoppers'], [r0])) AS segment
  FROM {database}.segment_snapshot_1700438400000_0
);

SELECT sum(r0)
FROM {database}.segment_snapshot_1700438400000_0;

INSERT INTO {database}.rfm_values (refresh, segment, person_id, recency_days, frequency, monetary)
SELECT toUInt64(1700438400000),
  'rfm',
  person_id,
  rfm_recency_days,
  rfm_frequency,
  rfm_monetary
FROM {database}.segment_snapshot_1700438400000_0
WHERE rfm_frequency > 0;

SELECT recency_days,
  count()
FROM {database}.rfm_values
WHERE refresh = 1700438400000
  AND segment = 'rfm'
GROUP BY recency_days;

SELECT frequency,
  count()
FROM {database}.rfm_values
WHERE refresh = 1700438400000
  AND segment = 'rfm'
GROUP BY frequency;

SELECT monetary,
  count()
FROM {database}.rfm_values
WHERE refresh = 1700438400000
  AND segment = 'rfm'
GROUP BY monetary;

INSERT INTO {database}.segment_members (refresh, segment, person_id)
SELECT refresh,
  concat(
    segment,
    '/',
    multiIf(
      toUInt8(1) = 5 AND intDiv(toUInt8(1) + toUInt8(1) + 1, 2) >= 4,
      'Champions',
      toUInt8(1) IN (3, 4) AND intDiv(toUInt8(1) + toUInt8(1) + 1, 2) >= 4,
      'Loyal',
      toUInt8(1) IN (4, 5) AND intDiv(toUInt8(1) + toUInt8(1) + 1, 2) IN (2, 3),
      'Potential loyalists',
      toUInt8(1) = 5,
      'New',
      toUInt8(1) = 4,
      'Promising',
      toUInt8(1) = 3,
      'Need attention',
      intDiv(toUInt8(1) + toUInt8(1) + 1, 2) = 5,
      'Can\'t lose',
      intDiv(toUInt8(1) + toUInt8(1) + 1, 2) >= 3,
      'At risk',
      toUInt8(1) = 2,
      'Hibernating',
      'Lost'
    )
  ),
  person_id
FROM {database}.rfm_values
WHERE refresh = 1700438400000
  AND segment = 'rfm';

SELECT segment,
  count()
FROM {database}.segment_members
WHERE refresh = 1700438400000
  AND (segment = 'rfm' OR startsWith(segment, 'rfm/'))
GROUP BY segment
ORDER BY segment;

DROP TABLE IF EXISTS {database}.segment_snapshot_1700438400000_0;

SELECT name,
  max(version),
  argMax(definition, version),
  argMax(created_at, version)
FROM {database}.experiments
GROUP BY name
ORDER BY name;

SELECT name,
  max(version),
  argMax(definition, version),
  argMax(created_at, version)
FROM {database}.segment_definitions
GROUP BY name
ORDER BY name;

SELECT DISTINCT segment
FROM {database}.segment_refreshes;

SELECT DISTINCT version
FROM {database}.public_segments
WHERE version < 1700438400000
ORDER BY version DESC
LIMIT 1;
