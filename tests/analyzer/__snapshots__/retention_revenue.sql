SELECT toRelativeWeekNum(toDateTime(d, 'UTC')) AS n,
  d
FROM (
  SELECT arrayJoin([
        toDateTime('2023-10-30 00:00:00', 'UTC'),
        toDateTime('2023-11-06 00:00:00', 'UTC'),
        toDateTime('2023-11-13 00:00:00', 'UTC'),
        toDateTime('2023-11-20 00:00:00', 'UTC'),
        toDateTime('2023-11-27 00:00:00', 'UTC')
      ]) AS d
);

SELECT c,
  o,
  count()
FROM (
  SELECT c,
    arrayJoin(arrayConcat([toInt64(0)], arrayFilter((x, u) -> u = 1, offsets, arrayEnumerateUniq(offsets)))) AS o
  FROM (
    SELECT c,
      arrayFilter(
        x -> x > 0 AND x <= 8,
        arrayMap((r, k) -> toInt64(r) - toInt64(k), rs, arrayResize([c], length(rs), c))
      ) AS offsets
    FROM (
      SELECT arrayJoin(if(
            notEmpty(arrayFilter((t, s) -> s = 1, times, sm)) AND arrayFilter((t, s) -> s = 1, times, sm)[1] >= 1698796800000 AND arrayFilter((t, s) -> s = 1, times, sm)[1] < 1701388800000,
            [toRelativeWeekNum(toDateTime(intDiv(arrayFilter((t, s) -> s = 1, times, sm)[1], 1000), 'UTC'))],
            emptyArrayUInt32()
          )) AS c,
        arrayMap(t -> toRelativeWeekNum(toDateTime(intDiv(t, 1000), 'UTC')), arrayFilter((t, r) -> r = 1, times, rm)) AS rs
      FROM (
        SELECT person,
          arraySort((k, o) -> o, _gk, _go) AS _sk,
          arrayEnumerateUniq(_sk) AS _first,
          arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_sm, _go), _first) AS sm,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_rm, _go), _first) AS rm,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_rv, _go), _first) AS rv
        FROM (
          SELECT person,
            groupArray(_o) AS _go,
            groupArray(_k) AS _gk,
            groupArray(_f_sm) AS _g_sm,
            groupArray(_f_rm) AS _g_rm,
            groupArray(_f_rv) AS _g_rv
          FROM (
            SELECT if(linked_person != 0, linked_person, identity_key) AS person,
              _o,
              _k,
              _f_sm,
              _f_rm,
              _f_rv
            FROM (
              SELECT identity_key,
                timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                event_key AS _k,
                toUInt8((event = 'Product Viewed')) AS _f_sm,
                toUInt8((event = 'Order Completed')) AS _f_rm,
                if((event = 'Order Completed'), toFloat64OrZero(visitParamExtractString(property_paths, 'price')), 0.) AS _f_rv
              FROM {database}.events
              WHERE (((event = 'Product Viewed') AND 1 AND timestamp < toDateTime(1701388800)) OR ((event = 'Order Completed') AND timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1706832000)))
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
)
GROUP BY c,
  o
ORDER BY c,
  o;

SELECT c,
  tupleElement(x, 1) AS o,
  sum(tupleElement(x, 2))
FROM (
  SELECT c,
    arrayJoin(arrayFilter(
        y -> tupleElement(y, 1) >= 0 AND tupleElement(y, 1) <= 8,
        arrayMap((r, w, k) -> (toInt64(r) - toInt64(k), w), rs, vs, arrayResize([c], length(rs), c))
      )) AS x
  FROM (
    SELECT arrayJoin(if(
          notEmpty(arrayFilter((t, s) -> s = 1, times, sm)) AND arrayFilter((t, s) -> s = 1, times, sm)[1] >= 1698796800000 AND arrayFilter((t, s) -> s = 1, times, sm)[1] < 1701388800000,
          [toRelativeWeekNum(toDateTime(intDiv(arrayFilter((t, s) -> s = 1, times, sm)[1], 1000), 'UTC'))],
          emptyArrayUInt32()
        )) AS c,
      arrayMap(
        t -> toRelativeWeekNum(toDateTime(intDiv(t, 1000), 'UTC')),
        arrayFilter((t, r) -> r = 1 AND t >= 1698796800000, times, rm)
      ) AS rs,
      arrayFilter((v, r, t) -> r = 1 AND t >= 1698796800000, rv, rm, times) AS vs
    FROM (
      SELECT person,
        arraySort((k, o) -> o, _gk, _go) AS _sk,
        arrayEnumerateUniq(_sk) AS _first,
        arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
        arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_sm, _go), _first) AS sm,
        arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_rm, _go), _first) AS rm,
        arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_rv, _go), _first) AS rv
      FROM (
        SELECT person,
          groupArray(_o) AS _go,
          groupArray(_k) AS _gk,
          groupArray(_f_sm) AS _g_sm,
          groupArray(_f_rm) AS _g_rm,
          groupArray(_f_rv) AS _g_rv
        FROM (
          SELECT if(linked_person != 0, linked_person, identity_key) AS person,
            _o,
            _k,
            _f_sm,
            _f_rm,
            _f_rv
          FROM (
            SELECT identity_key,
              timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
              event_key AS _k,
              toUInt8((event = 'Product Viewed')) AS _f_sm,
              toUInt8((event = 'Order Completed')) AS _f_rm,
              if((event = 'Order Completed'), toFloat64OrZero(visitParamExtractString(property_paths, 'price')), 0.) AS _f_rv
            FROM {database}.events
            WHERE (((event = 'Product Viewed') AND 1 AND timestamp < toDateTime(1701388800)) OR ((event = 'Order Completed') AND timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1706832000)))
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
GROUP BY c,
  o
ORDER BY c,
  o;

SELECT DISTINCT event
FROM {database}.events
WHERE type IN ('track', 'page', 'screen')
  AND device_type != 'bot'
  AND timestamp >= toDateTime(1698796800)
  AND timestamp < toDateTime(1701388800)
  AND event IN ('Order Completed', 'Product Viewed');

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
