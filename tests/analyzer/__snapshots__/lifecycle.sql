SELECT toRelativeDayNum(toDateTime(d, 'UTC')) AS n,
  d
FROM (
  SELECT arrayJoin([
        toDateTime('2023-11-01 00:00:00', 'UTC'),
        toDateTime('2023-11-02 00:00:00', 'UTC'),
        toDateTime('2023-11-03 00:00:00', 'UTC'),
        toDateTime('2023-11-04 00:00:00', 'UTC'),
        toDateTime('2023-11-05 00:00:00', 'UTC'),
        toDateTime('2023-11-06 00:00:00', 'UTC'),
        toDateTime('2023-11-07 00:00:00', 'UTC'),
        toDateTime('2023-11-08 00:00:00', 'UTC'),
        toDateTime('2023-11-09 00:00:00', 'UTC'),
        toDateTime('2023-11-10 00:00:00', 'UTC'),
        toDateTime('2023-11-11 00:00:00', 'UTC'),
        toDateTime('2023-11-12 00:00:00', 'UTC'),
        toDateTime('2023-11-13 00:00:00', 'UTC'),
        toDateTime('2023-11-14 00:00:00', 'UTC'),
        toDateTime('2023-11-15 00:00:00', 'UTC'),
        toDateTime('2023-11-16 00:00:00', 'UTC'),
        toDateTime('2023-11-17 00:00:00', 'UTC'),
        toDateTime('2023-11-18 00:00:00', 'UTC'),
        toDateTime('2023-11-19 00:00:00', 'UTC'),
        toDateTime('2023-11-20 00:00:00', 'UTC'),
        toDateTime('2023-11-21 00:00:00', 'UTC'),
        toDateTime('2023-11-22 00:00:00', 'UTC'),
        toDateTime('2023-11-23 00:00:00', 'UTC'),
        toDateTime('2023-11-24 00:00:00', 'UTC'),
        toDateTime('2023-11-25 00:00:00', 'UTC'),
        toDateTime('2023-11-26 00:00:00', 'UTC'),
        toDateTime('2023-11-27 00:00:00', 'UTC'),
        toDateTime('2023-11-28 00:00:00', 'UTC'),
        toDateTime('2023-11-29 00:00:00', 'UTC'),
        toDateTime('2023-11-30 00:00:00', 'UTC')
      ]) AS d
);

SELECT tupleElement(s, 1) AS p,
  tupleElement(s, 2) AS status,
  count()
FROM (
  SELECT arrayJoin(arrayConcat(
        arrayMap(
          (a, prev, i) -> (a, multiIf(i = 1, 'new', prev = a - 1, 'returning', 'resurrecting')),
          active,
          arrayPopBack(arrayPushFront(active, toInt64(0))),
          arrayEnumerate(active)
        ),
        arrayMap(
          a -> (a + 1, 'dormant'),
          arrayFilter((a, nxt) -> nxt != a + 1, active, arrayPopFront(arrayPushBack(active, toInt64(0))))
        )
      )) AS s
  FROM (
    SELECT arraySort(arrayFilter(
          (x, u) -> u = 1,
          arrayMap(t -> toInt64(toRelativeDayNum(toDateTime(intDiv(t, 1000), 'UTC'))), times),
          arrayEnumerateUniq(arrayMap(t -> toInt64(toRelativeDayNum(toDateTime(intDiv(t, 1000), 'UTC'))), times))
        )) AS active
    FROM (
      SELECT person,
        arraySort((k, o) -> o, _gk, _go) AS _sk,
        arrayEnumerateUniq(_sk) AS _first,
        arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times
      FROM (
        SELECT person,
          groupArray(_o) AS _go,
          groupArray(_k) AS _gk
        FROM (
          SELECT if(linked_person != 0, linked_person, identity_key) AS person,
            _o,
            _k
          FROM (
            SELECT identity_key,
              timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
              event_key AS _k
            FROM {database}.events
            WHERE ((event = 'Product Viewed') AND timestamp < toDateTime(1701388800))
              AND device_type != 'bot'
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
        GROUP BY person
      )
    )
  )
)
WHERE p >= 19662
  AND p <= 19691
GROUP BY p,
  status;

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
