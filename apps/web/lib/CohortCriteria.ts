import type { CohortFilter } from './types';

/** The facets offered as checkboxes. */
export type ListCriterion = 'modality' | 'bodyPart' | 'sex' | 'manufacturer';

/** The cohort builder's form state: lists, plus text fields as typed. */
export interface CohortCriteria {
  modality: string[];
  bodyPart: string[];
  sex: string[];
  manufacturer: string[];
  ageMin: string;
  ageMax: string;
  studyDateFrom: string;
  studyDateTo: string;
  text: string;
  /** One criterion on any DICOM attribute, by keyword. */
  attrKeyword: string;
  attrOp: string;
  attrValue: string;
  /** One criterion on a model's prediction. */
  predModel: string;
  predLabel: string;
  predMinScore: string;
}

/** No criterion: the whole lake. */
export const NO_CRITERIA: CohortCriteria = {
  modality: [],
  bodyPart: [],
  sex: [],
  manufacturer: [],
  ageMin: '',
  ageMax: '',
  studyDateFrom: '',
  studyDateTo: '',
  text: '',
  attrKeyword: '',
  attrOp: 'EQ',
  attrValue: '',
  predModel: '',
  predLabel: '',
  predMinScore: '',
};

const LISTS: readonly ListCriterion[] = [
  'modality',
  'bodyPart',
  'sex',
  'manufacturer',
];

function wholeYears(typed: string): number | undefined {
  const n = Number(typed);
  return typed.trim() !== '' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The API filter of the form: empty fields left out, null when nothing is
 * chosen. Ages that are not whole years are left out rather than sent.
 */
export function toCohortFilter(c: CohortCriteria): CohortFilter | null {
  const filter: CohortFilter = {};
  for (const key of LISTS) if (c[key].length) filter[key] = c[key];
  const ageMin = wholeYears(c.ageMin);
  const ageMax = wholeYears(c.ageMax);
  if (ageMin !== undefined) filter.ageMin = ageMin;
  if (ageMax !== undefined) filter.ageMax = ageMax;
  if (c.studyDateFrom) filter.studyDateFrom = c.studyDateFrom;
  if (c.studyDateTo) filter.studyDateTo = c.studyDateTo;
  if (c.text.trim()) filter.text = c.text.trim();
  const keyword = c.attrKeyword.trim();
  if (keyword && (c.attrOp === 'EXISTS' || c.attrValue.trim()))
    filter.attribute = [
      {
        keyword,
        op: c.attrOp,
        ...(c.attrOp === 'EXISTS' ? {} : { value: c.attrValue.trim() }),
      },
    ];
  if (c.predModel.trim() && c.predLabel.trim()) {
    const min = Number(c.predMinScore);
    filter.prediction = [
      {
        model: c.predModel.trim(),
        label: c.predLabel.trim(),
        ...(c.predMinScore.trim() !== '' && Number.isFinite(min)
          ? { minScore: min }
          : {}),
      },
    ];
  }
  return Object.keys(filter).length ? filter : null;
}

/** A saved cohort's filter JSON in words, e.g. "modality CT, MR; age 40-60". */
export function describeFilter(json: string): string {
  let f: CohortFilter;
  try {
    f = JSON.parse(json) as CohortFilter;
  } catch {
    return json;
  }
  const parts: string[] = [];
  for (const key of LISTS) {
    const values = f[key];
    if (values?.length) parts.push(`${key} ${values.join(', ')}`);
  }
  if (f.ageMin !== undefined || f.ageMax !== undefined)
    parts.push(`age ${f.ageMin ?? 0}-${f.ageMax ?? '…'}`);
  if (f.studyDateFrom || f.studyDateTo)
    parts.push(
      `study date ${f.studyDateFrom ?? '…'} to ${f.studyDateTo ?? '…'}`,
    );
  if (f.text) parts.push(`text "${f.text}"`);
  for (const a of f.attribute ?? [])
    parts.push(
      `${a.keyword} ${a.op}${a.value === undefined ? '' : ` ${a.value}`}`,
    );
  for (const p of f.prediction ?? [])
    parts.push(
      `${p.model} says ${p.label}${p.minScore === undefined ? '' : ` ≥ ${p.minScore}`}`,
    );
  return parts.length ? parts.join('; ') : 'whole lake';
}
