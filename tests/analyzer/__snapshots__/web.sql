SELECT grp,
  uniqExact(person),
  count(),
  countIf(n = 1),
  quantileExact(0.5)(ms),
  sum(length(pages))
FROM (
  SELECT arrayJoin(groups) AS grp,
    person,
    ms,
    n,
    pages,
    src
  FROM (
    SELECT person,
      groups,
      tupleElement(se, 1) AS i,
      tupleElement(se, 2) AS j,
      times[j] - times[i] AS ms,
      j - i + 1 AS n,
      arrayFilter(p -> p != '', arraySlice(pg, i, j - i + 1)) AS pages,
      if(src[i] != '', src[i], '(direct)') AS src
    FROM (
      SELECT *,
        arrayJoin(arrayMap((s, e) -> (s, e), start_at, end_at)) AS se
      FROM (
        SELECT person,
          ['(everyone)'] AS groups,
          pg,
          src,
          times,
          arrayMap((t, p) -> toUInt8(p = 0 OR t - p > 1800000), times, arrayPopBack(arrayPushFront(times, toUInt64(0)))) AS b,
          arrayPopFront(arrayPushBack(b, toUInt8(1))) AS last,
          arrayFilter((i, s) -> s = 1, arrayEnumerate(b), b) AS start_at,
          arrayFilter((i, s) -> s = 1, arrayEnumerate(b), last) AS end_at
        FROM (
          SELECT person,
            arraySort((k, o) -> o, _gk, _go) AS _sk,
            arrayEnumerateUniq(_sk) AS _first,
            arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
            arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_pg, _go), _first) AS pg,
            arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_src, _go), _first) AS src
          FROM (
            SELECT person,
              groupArray(_o) AS _go,
              groupArray(_k) AS _gk,
              groupArray(_f_pg) AS _g_pg,
              groupArray(_f_src) AS _g_src
            FROM (
              SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                _o,
                _k,
                _f_pg,
                _f_src
              FROM (
                SELECT identity_key,
                  timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                  event_key AS _k,
                  if(type = 'page', replaceRegexpAll(page_path, '^/product/\\d+$', '/product/:id'), '') AS _f_pg,
                  if(utm_source != '', utm_source, referrer_host) AS _f_src
                FROM {database}.events
                WHERE (type IN ('track', 'page', 'screen') AND timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701388800))
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
GROUP BY grp;

SELECT kind,
  grp,
  value,
  count() AS c,
  uniqExact(person)
FROM (
  SELECT grp,
    person,
    arrayJoin(arrayConcat(
        arrayMap(p -> ('pages', p), pages),
        arraySlice([('entry', pages[1]), ('exit', pages[-1])], 1, if(empty(pages), 0, 2)),
        [('sources', src)]
      )) AS item,
    tupleElement(item, 1) AS kind,
    tupleElement(item, 2) AS value
  FROM (
    SELECT arrayJoin(groups) AS grp,
      person,
      ms,
      n,
      pages,
      src
    FROM (
      SELECT person,
        groups,
        tupleElement(se, 1) AS i,
        tupleElement(se, 2) AS j,
        times[j] - times[i] AS ms,
        j - i + 1 AS n,
        arrayFilter(p -> p != '', arraySlice(pg, i, j - i + 1)) AS pages,
        if(src[i] != '', src[i], '(direct)') AS src
      FROM (
        SELECT *,
          arrayJoin(arrayMap((s, e) -> (s, e), start_at, end_at)) AS se
        FROM (
          SELECT person,
            ['(everyone)'] AS groups,
            pg,
            src,
            times,
            arrayMap((t, p) -> toUInt8(p = 0 OR t - p > 1800000), times, arrayPopBack(arrayPushFront(times, toUInt64(0)))) AS b,
            arrayPopFront(arrayPushBack(b, toUInt8(1))) AS last,
            arrayFilter((i, s) -> s = 1, arrayEnumerate(b), b) AS start_at,
            arrayFilter((i, s) -> s = 1, arrayEnumerate(b), last) AS end_at
          FROM (
            SELECT person,
              arraySort((k, o) -> o, _gk, _go) AS _sk,
              arrayEnumerateUniq(_sk) AS _first,
              arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
              arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_pg, _go), _first) AS pg,
              arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_src, _go), _first) AS src
            FROM (
              SELECT person,
                groupArray(_o) AS _go,
                groupArray(_k) AS _gk,
                groupArray(_f_pg) AS _g_pg,
                groupArray(_f_src) AS _g_src
              FROM (
                SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                  _o,
                  _k,
                  _f_pg,
                  _f_src
                FROM (
                  SELECT identity_key,
                    timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                    event_key AS _k,
                    if(type = 'page', replaceRegexpAll(page_path, '^/product/\\d+$', '/product/:id'), '') AS _f_pg,
                    if(utm_source != '', utm_source, referrer_host) AS _f_src
                  FROM {database}.events
                  WHERE (type IN ('track', 'page', 'screen') AND timestamp >= toDateTime(1698796800) AND timestamp < toDateTime(1701388800))
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
GROUP BY kind,
  grp,
  value
ORDER BY kind,
  grp,
  c DESC,
  value
LIMIT 10 BY kind, grp;
