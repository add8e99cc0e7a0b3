import { registerEnumType } from 'type-graphql';

/** How a cohort's studies are ordered; the StudyInstanceUID breaks ties. */
export enum StudyOrder {
  STUDY_INSTANCE_UID = 'STUDY_INSTANCE_UID',
  STUDY_DATE = 'STUDY_DATE',
  INSTANCE_COUNT = 'INSTANCE_COUNT',
  AGE = 'AGE',
}

registerEnumType(StudyOrder, {
  name: 'StudyOrder',
  description:
    'Order of studies: by UID, (shifted) study date, instance count or age at study; missing values last',
});
