SELECT total,
  arrayFilter((x, k) -> tupleElement(x, 1) <= k, ranked, arrayResize([kth], length(ranked), kth)) AS ranked
FROM (
  SELECT total,
    ranked,
    tupleElement(ranked[least(20, length(ranked))], 1) AS kth
  FROM (
    SELECT sum(c) AS total,
      arraySort(groupArray((-toInt64(c), path))) AS ranked
    FROM (
      SELECT path,
        count() AS c
      FROM (
        SELECT arraySlice(els, 1, 5) AS path,
          arraySlice(ts, 1, 5) AS at
        FROM (
          SELECT arraySlice(E, tupleElement(span, 1), tupleElement(span, 2)) AS els,
            arraySlice(ET, tupleElement(span, 1), tupleElement(span, 2)) AS ts
          FROM (
            SELECT E,
              ET,
              arrayJoin(arrayMap((a, z) -> (a, z - a), first, after)) AS span
            FROM (
              SELECT arrayMap((t, p) -> toUInt8(p = 0 OR t - p > 1800000), times, arrayPopBack(arrayPushFront(times, toUInt64(0)))) AS b,
                arrayMap((e, p, s) -> s = 1 OR e != p, el, arrayPopBack(arrayPushFront(el, el[1])), b) AS keep,
                arrayFilter((x, k) -> k, el, keep) AS E,
                arrayFilter((x, k) -> k, times, keep) AS ET,
                arrayFilter((x, k) -> k, b, keep) AS EB,
                arrayFilter((i, s) -> s = 1, arrayEnumerate(EB), EB) AS first,
                arrayPopFront(arrayPushBack(first, length(EB) + 1)) AS after
              FROM (
                SELECT person,
                  arraySort((k, o) -> o, _gk, _go) AS _sk,
                  arrayEnumerateUniq(_sk) AS _first,
                  arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
                  arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_el, _go), _first) AS el
                FROM (
                  SELECT person,
                    groupArray(_o) AS _go,
                    groupArray(_k) AS _gk,
                    groupArray(_f_el) AS _g_el
                  FROM (
                    SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                      _o,
                      _k,
                      _f_el
                    FROM (
                      SELECT identity_key,
                        timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                        event_key AS _k,
                        cityHash64(replaceRegexpAll(if(type = 'page', page_path, event), '^/product/\\d+$', '/product/:id')) AS _f_el
                      FROM {database}.events
                      WHERE (type IN ('page', 'screen') AND timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701388800))
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
      )
      GROUP BY path
    )
  )
);

SELECT cityHash64('…'),
  cityHash64('(end)'),
  cityHash64('(no further events)');

SELECT h,
  x
FROM (
  SELECT replaceRegexpAll(if(type = 'page', page_path, event), '^/product/\\d+$', '/product/:id') AS x,
    cityHash64(x) AS h
  FROM {database}.events
  WHERE type IN ('page', 'screen')
)
WHERE has([4428038761863195349, 12292445011093038833, 13539500510290818734, 15255772102780491863], h)
LIMIT 1 BY h
LIMIT 4;

SELECT total,
  arrayFilter((x, k) -> tupleElement(x, 1) <= k, ranked, arrayResize([kth], length(ranked), kth)) AS ranked
FROM (
  SELECT total,
    ranked,
    tupleElement(ranked[least(500, length(ranked))], 1) AS kth
  FROM (
    SELECT sum(c) AS total,
      arraySort(groupArray((-toInt64(c), i, source, target, seconds))) AS ranked
    FROM (
      SELECT i,
        path[i] AS source,
        if(i < length(path), path[i + 1], cityHash64('(end)')) AS target,
        count() AS c,
        avgIf(
          at[i + 1] - at[i],
          i < length(path) AND at[i + 1] >= at[i] AND path[i + 1] != cityHash64('…') AND path[i] != cityHash64('…')
        ) AS seconds
      FROM (
        SELECT path,
          at,
          arrayJoin(arrayEnumerate(path)) AS i
        FROM (
          SELECT arraySlice(els, 1, 5) AS path,
            arraySlice(ts, 1, 5) AS at
          FROM (
            SELECT arraySlice(E, tupleElement(span, 1), tupleElement(span, 2)) AS els,
              arraySlice(ET, tupleElement(span, 1), tupleElement(span, 2)) AS ts
            FROM (
              SELECT E,
                ET,
                arrayJoin(arrayMap((a, z) -> (a, z - a), first, after)) AS span
              FROM (
                SELECT arrayMap((t, p) -> toUInt8(p = 0 OR t - p > 1800000), times, arrayPopBack(arrayPushFront(times, toUInt64(0)))) AS b,
                  arrayMap((e, p, s) -> s = 1 OR e != p, el, arrayPopBack(arrayPushFront(el, el[1])), b) AS keep,
                  arrayFilter((x, k) -> k, el, keep) AS E,
                  arrayFilter((x, k) -> k, times, keep) AS ET,
                  arrayFilter((x, k) -> k, b, keep) AS EB,
                  arrayFilter((i, s) -> s = 1, arrayEnumerate(EB), EB) AS first,
                  arrayPopFront(arrayPushBack(first, length(EB) + 1)) AS after
                FROM (
                  SELECT person,
                    arraySort((k, o) -> o, _gk, _go) AS _sk,
                    arrayEnumerateUniq(_sk) AS _first,
                    arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
                    arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_el, _go), _first) AS el
                  FROM (
                    SELECT person,
                      groupArray(_o) AS _go,
                      groupArray(_k) AS _gk,
                      groupArray(_f_el) AS _g_el
                    FROM (
                      SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                        _o,
                        _k,
                        _f_el
                      FROM (
                        SELECT identity_key,
                          timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                          event_key AS _k,
                          cityHash64(replaceRegexpAll(if(type = 'page', page_path, event), '^/product/\\d+$', '/product/:id')) AS _f_el
                        FROM {database}.events
                        WHERE (type IN ('page', 'screen') AND timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701388800))
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
        )
      )
      GROUP BY i,
        source,
        target
    )
  )
);

SELECT cityHash64('…'),
  cityHash64('(end)'),
  cityHash64('(no further events)');

SELECT h,
  x
FROM (
  SELECT replaceRegexpAll(if(type = 'page', page_path, event), '^/product/\\d+$', '/product/:id') AS x,
    cityHash64(x) AS h
  FROM {database}.events
  WHERE type IN ('page', 'screen')
)
WHERE has([4428038761863195349, 12292445011093038833, 13539500510290818734, 15255772102780491863], h)
LIMIT 1 BY h
LIMIT 4;
