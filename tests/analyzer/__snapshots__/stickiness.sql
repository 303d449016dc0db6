SELECT grp,
  n,
  count()
FROM (
  SELECT arrayJoin(groups) AS grp,
    n
  FROM (
    SELECT ['(everyone)'] AS groups,
      person,
      n
    FROM (
      SELECT person,
        _p,
        uniqExact(_d) AS n
      FROM (
        SELECT if(linked_person != 0, linked_person, identity_key) AS person,
          _d,
          _p
        FROM (
          SELECT identity_key,
            intDiv(toInt64(toUInt32(timestamp)) - 1698796800, 86400) AS _d,
            toInt64(toRelativeMonthNum(timestamp)) - toInt64(toRelativeMonthNum(toDateTime(1698796800))) AS _p
          FROM {database}.events
          WHERE timestamp >= toDateTime(1698796800)
            AND timestamp < toDateTime(1701388800)
            AND ((event = 'Product Viewed'))
            AND device_type != 'bot'
          GROUP BY identity_key,
            _d,
            _p
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
      GROUP BY person,
        _p
    )
  )
)
GROUP BY grp,
  n
ORDER BY grp,
  n;

SELECT grp,
  uniqExact(person)
FROM (
  SELECT arrayJoin(groups) AS grp,
    person
  FROM (
    SELECT ['(everyone)'] AS groups,
      person,
      n
    FROM (
      SELECT person,
        _p,
        uniqExact(_d) AS n
      FROM (
        SELECT if(linked_person != 0, linked_person, identity_key) AS person,
          _d,
          _p
        FROM (
          SELECT identity_key,
            intDiv(toInt64(toUInt32(timestamp)) - 1698796800, 86400) AS _d,
            toInt64(toRelativeMonthNum(timestamp)) - toInt64(toRelativeMonthNum(toDateTime(1698796800))) AS _p
          FROM {database}.events
          WHERE timestamp >= toDateTime(1698796800)
            AND timestamp < toDateTime(1701388800)
            AND ((event = 'Product Viewed'))
            AND device_type != 'bot'
          GROUP BY identity_key,
            _d,
            _p
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
      GROUP BY person,
        _p
    )
  )
)
GROUP BY grp;

SELECT DISTINCT event
FROM {database}.events
WHERE type IN ('track', 'page', 'screen')
  AND device_type != 'bot'
  AND timestamp >= toDateTime(1698796800)
  AND timestamp < toDateTime(1701388800)
  AND event IN tuple('Product Viewed');

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
