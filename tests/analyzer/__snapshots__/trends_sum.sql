SELECT _prev,
  _bucket,
  _split,
  _value,
  ifNull(sum(_n), 0.)
FROM (
  SELECT _prev,
    arrayJoin([toInt64(_b), -1]) AS _bucket,
    arrayJoin([0]) AS _split,
    if(_split = 1, _v, '') AS _value,
    _n,
    person
  FROM (
    SELECT _prev,
      _b,
      _n,
      _v,
      if(linked_person != 0, linked_person, identity_key) AS person
    FROM (
      SELECT event_key,
        identity_key,
        timestamp < toDateTime(1698796800) AS _prev,
        intDiv(toInt64(toUInt32(timestamp)) - if(_prev, 1696204800, 1698796800), 86400) AS _b,
        toFloat64OrNull(visitParamExtractString(property_paths, 'price')) AS _n,
        '' AS _v
      FROM {database}.events
      WHERE timestamp >= toDateTime(1696204800)
        AND timestamp < toDateTime(1701388800)
        AND ((event = 'Order Completed'))
        AND device_type != 'bot'
      LIMIT 1 BY event_key
    ) AS e
    ANY LEFT JOIN (
      SELECT cityHash64(id) AS identity_key,
        cityHash64(person) AS linked_person
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
)
GROUP BY _prev,
  _bucket,
  _split,
  _value;

SELECT DISTINCT event
FROM {database}.events
WHERE type IN ('track', 'page', 'screen')
  AND device_type != 'bot'
  AND timestamp >= toDateTime(1698796800)
  AND timestamp < toDateTime(1701388800)
  AND event IN tuple('Order Completed');

SELECT event,
  count() AS n
FROM {database}.events
WHERE type IN ('track', 'page', 'screen')
  AND device_type != 'bot'
  AND timestamp >= toDateTime(1698796800)
  AND timestamp < toDateTime(1701388800)
  AND event != ''
GROUP BY event
ORDER BY n DESC,
  event;
